"""Python targets the C++ and Java examples call by name (module "calc")."""


def add(a, b):
    return a + b


class Counter:
    def __init__(self, start):
        self.count = start

    def add(self, n):
        self.count += n
        return self.count
