"""gRPC servicers: translate protobuf to core events and core answers to protobuf. Nothing else."""
