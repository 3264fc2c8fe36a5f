// YR::Affinity and YR::LabelOperator: where an instance may or should run (openYuanrong's
// names and string constants). RESOURCE rules look at a node's labels (`yr start --labels`,
// and NODE_ID), INSTANCE rules at the labels of the instances on it (InvokeOptions::labels,
// keys only: LabelExists / LabelDoesNotExist). All operators of one Affinity must hold.
// Rules: docs/architecture.md "Placement".
#pragma once

#include <list>
#include <string>

namespace YR {

const std::string RESOURCE = "Resource";
const std::string INSTANCE = "Instance";
const std::string PREFERRED = "PreferredAffinity";
const std::string PREFERRED_ANTI = "PreferredAntiAffinity";
const std::string REQUIRED = "RequiredAffinity";
const std::string REQUIRED_ANTI = "RequiredAntiAffinity";
const std::string LABEL_IN = "LabelIn";
const std::string LABEL_NOT_IN = "LabelNotIn";
const std::string LABEL_EXISTS = "LabelExists";
const std::string LABEL_DOES_NOT_EXIST = "LabelDoesNotExist";

class LabelOperator {
public:
    LabelOperator() = delete;
    LabelOperator(const std::string &type, const std::string &key, const std::list<std::string> &values)
        : operatorType(type), key(key), values(values)
    {
    }
    LabelOperator(const std::string &type, const std::string &key) : operatorType(type), key(key) {}
    std::string GetOperatorType() const { return operatorType; }
    std::string GetKey() const { return key; }
    std::list<std::string> GetValues() const { return values; }

private:
    std::string operatorType;
    std::string key;
    std::list<std::string> values;
};

struct LabelInOperator : LabelOperator {
    LabelInOperator(const std::string &key, const std::list<std::string> &values) : LabelOperator(LABEL_IN, key, values) {}
};
struct LabelNotInOperator : LabelOperator {
    LabelNotInOperator(const std::string &key, const std::list<std::string> &values)
        : LabelOperator(LABEL_NOT_IN, key, values)
    {
    }
};
struct LabelExistsOperator : LabelOperator {
    explicit LabelExistsOperator(const std::string &key) : LabelOperator(LABEL_EXISTS, key) {}
};
struct LabelDoesNotExistOperator : LabelOperator {
    explicit LabelDoesNotExistOperator(const std::string &key) : LabelOperator(LABEL_DOES_NOT_EXIST, key) {}
};

class Affinity {
public:
    Affinity() = delete;
    Affinity(const std::string &kind, const std::string &type, const std::list<LabelOperator> &operators)
        : affinityKind(kind), affinityType(type), labelOperators(operators)
    {
    }
    Affinity(const std::string &kind, const std::string &type, const std::list<LabelOperator> &operators,
             const std::string &affinityScope)
        : affinityKind(kind), affinityType(type), labelOperators(operators), affinityScope(affinityScope)
    {
    }
    std::string GetAffinityKind() const { return affinityKind; }
    std::string GetAffinityType() const { return affinityType; }
    std::list<LabelOperator> GetLabelOperators() const { return labelOperators; }
    std::string GetAffinityScope() const { return affinityScope; }
    void SetAffinityScope(const std::string &scope) { affinityScope = scope; }

private:
    std::string affinityKind;
    std::string affinityType;
    std::list<LabelOperator> labelOperators;
    std::string affinityScope;   // "POD" | "NODE" | "": the same here (one worker pool per node)
};

#define YR_AFFINITY_CLASS(NAME, KIND, TYPE)                                                       \
    struct NAME : Affinity {                                                                       \
        explicit NAME(const LabelOperator &op) : Affinity(KIND, TYPE, {op}) {}                     \
        explicit NAME(const std::list<LabelOperator> &ops) : Affinity(KIND, TYPE, ops) {}          \
    };
YR_AFFINITY_CLASS(ResourcePreferredAffinity, RESOURCE, PREFERRED)
YR_AFFINITY_CLASS(InstancePreferredAffinity, INSTANCE, PREFERRED)
YR_AFFINITY_CLASS(ResourcePreferredAntiAffinity, RESOURCE, PREFERRED_ANTI)
YR_AFFINITY_CLASS(InstancePreferredAntiAffinity, INSTANCE, PREFERRED_ANTI)
YR_AFFINITY_CLASS(ResourceRequiredAffinity, RESOURCE, REQUIRED)
YR_AFFINITY_CLASS(InstanceRequiredAffinity, INSTANCE, REQUIRED)
YR_AFFINITY_CLASS(ResourceRequiredAntiAffinity, RESOURCE, REQUIRED_ANTI)
YR_AFFINITY_CLASS(InstanceRequiredAntiAffinity, INSTANCE, REQUIRED_ANTI)
#undef YR_AFFINITY_CLASS

}  // namespace YR
