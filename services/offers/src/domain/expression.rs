//! Conditions: segment and pricing expressions in JSONLogic (docs/adr/0020), checked against
//! a vocabulary before they are stored, compiled once, evaluated in nanoseconds and explained
//! sub-condition by sub-condition.
//!
//! Only a safe subset of JSONLogic is accepted: comparisons, `in`, `and`/`or`/`!`/`!!` and
//! `var`. There is no loop, no iteration over arrays, no arithmetic, no string building, so
//! the cost of an evaluation is bounded by the size of the rule, itself bounded by
//! [`MAX_NODES`] and [`MAX_DEPTH`]. Parsing and evaluation are `datalogic-rs`'s; this module
//! only walks the rule's JSON to check names and types and to explain a result.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use datalogic_rs::{DataValue, Engine, Logic};
use serde_json::{Map, Value};

use super::attribute::AttributeType;

/// At most this many operator and literal nodes in one condition.
pub const MAX_NODES: usize = 256;
/// At most this deep.
pub const MAX_DEPTH: usize = 16;

/// The operators a condition may use: no loops, no arithmetic, no string building.
pub const ALLOWED: [&str; 14] = [
    "and", "or", "!", "!!", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "in", "var",
];

/// The one engine of the process (compiling against a shared engine is what makes
/// evaluations cheap; its configuration never changes).
static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);

/// A variable's type, as far as conditions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// A JSON number.
    Number,
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A calendar date, `YYYY-MM-DD` (compares as text).
    Date,
    /// A set of strings (a JSON array of strings).
    StringSet,
}

impl VarType {
    fn name(self) -> &'static str {
        match self {
            VarType::Number => "number",
            VarType::String => "string",
            VarType::Boolean => "boolean",
            VarType::Date => "date",
            VarType::StringSet => "set of strings",
        }
    }
}

impl From<AttributeType> for VarType {
    fn from(t: AttributeType) -> Self {
        match t {
            AttributeType::Number => VarType::Number,
            AttributeType::String => VarType::String,
            AttributeType::Boolean => VarType::Boolean,
            AttributeType::Date => VarType::Date,
            AttributeType::StringSet => VarType::StringSet,
        }
    }
}

/// The names a condition may use, with their types: attributes by name, request parameters
/// as `params.<name>`, persona membership as `personas.<name>` (booleans).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    vars: BTreeMap<String, VarType>,
}

impl Vocabulary {
    /// An empty vocabulary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a name.
    pub fn with(mut self, name: impl Into<String>, t: VarType) -> Self {
        self.vars.insert(name.into(), t);
        self
    }

    /// Adds a name in place.
    pub fn insert(&mut self, name: impl Into<String>, t: VarType) {
        self.vars.insert(name.into(), t);
    }

    /// The type of `name`, if it is known.
    pub fn get(&self, name: &str) -> Option<VarType> {
        self.vars.get(name).copied()
    }
}

/// Why a condition was refused: the JSON pointer of the offending node inside the condition
/// and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at \"{path}\": {message}")]
pub struct ConditionError {
    /// JSON pointer (RFC 6901) relative to the condition (`/and/1/==/0/var`; `""` for the
    /// whole condition).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> ConditionError {
    ConditionError {
        path: path.into(),
        message: message.into(),
    }
}

/// What a node evaluates to, for type checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeType {
    Var(VarType),
    Number,
    String,
    Boolean,
    Null,
    List(Option<VarType>),
}

impl NodeType {
    fn describe(self) -> String {
        match self {
            NodeType::Var(t) => t.name().into(),
            NodeType::Number => "number".into(),
            NodeType::String => "string".into(),
            NodeType::Boolean => "boolean".into(),
            NodeType::Null => "null".into(),
            NodeType::List(_) => "list".into(),
        }
    }

    fn is_boolean(self) -> bool {
        matches!(self, NodeType::Boolean | NodeType::Var(VarType::Boolean))
    }

    /// The scalar family the value compares in.
    fn family(self) -> Option<&'static str> {
        match self {
            NodeType::Number | NodeType::Var(VarType::Number) => Some("number"),
            NodeType::String | NodeType::Var(VarType::String) => Some("string"),
            NodeType::Var(VarType::Date) => Some("date"),
            NodeType::Boolean | NodeType::Var(VarType::Boolean) => Some("boolean"),
            _ => None,
        }
    }
}

/// A condition that passed [`Condition::parse`]: its JSON (what is stored and shown) and its
/// compiled form.
#[derive(Clone)]
pub struct Condition {
    rule: Arc<Value>,
    tree: Arc<Node>,
}

/// A (sub-)condition compiled once, with the sub-conditions an explanation shows (of `and`,
/// `or`, `!`, `!!`) and the names a leaf reads: explaining evaluates, it never compiles.
struct Node {
    /// Shared with every explanation of it (cloned per explanation otherwise).
    rule: Arc<Value>,
    logic: Logic,
    names: Vec<String>,
    parts: Vec<Node>,
}

impl Node {
    fn build(rule: &Value) -> Result<Node, ConditionError> {
        let logic = ENGINE
            .compile(&guarded(rule))
            .map_err(|e| err("", format!("not a valid JSONLogic rule: {e}")))?;
        let mut parts = Vec::new();
        if let Some((op, args)) = operator(rule)
            && matches!(op, "and" | "or" | "!" | "!!")
        {
            parts = args_of(args)
                .iter()
                .map(|a| Node::build(a))
                .collect::<Result<_, _>>()?;
        }
        let mut names = Vec::new();
        if parts.is_empty() {
            collect_vars(rule, &mut names);
        }
        Ok(Node {
            rule: Arc::new(rule.clone()),
            logic,
            names,
            parts,
        })
    }

    fn holds(&self, data: &Value) -> bool {
        let arena = datalogic_rs::bumpalo::Bump::new();
        match ENGINE.evaluate(&self.logic, data, &arena) {
            Ok(v) => ENGINE.truthy(v),
            Err(_) => false,
        }
    }

    fn holds_for(&self, facts: &Facts) -> bool {
        let arena = datalogic_rs::bumpalo::Bump::new();
        match ENGINE.evaluate(&self.logic, facts.0.borrow_dependent(), &arena) {
            Ok(v) => ENGINE.truthy(v),
            Err(_) => false,
        }
    }

    fn explain(&self, data: &Value, facts: &Facts) -> Explanation {
        let parts: Vec<Explanation> = self.parts.iter().map(|p| p.explain(data, facts)).collect();
        let values = self
            .names
            .iter()
            .map(|n| (n.clone(), lookup(data, n).cloned().unwrap_or(Value::Null)))
            .collect();
        Explanation {
            condition: Arc::clone(&self.rule),
            held: self.holds_for(facts),
            values,
            parts,
        }
    }
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Condition({})", self.rule)
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule
    }
}

impl Condition {
    /// Checks `rule` against `vocabulary` (names, types, the safe operator subset, size) and
    /// compiles it. The rule must be boolean-valued.
    pub fn parse(rule: &Value, vocabulary: &Vocabulary) -> Result<Condition, ConditionError> {
        let mut nodes = 0;
        let t = check(rule, vocabulary, "", 0, &mut nodes)?;
        if !t.is_boolean() {
            return Err(err(
                "",
                format!(
                    "a condition must be true or false, this is a {}",
                    t.describe()
                ),
            ));
        }
        Self::compile(rule)
    }

    /// Compiles a stored rule: it was checked when it was saved (an attribute retired since
    /// then simply evaluates as missing, so the condition does not hold).
    pub fn stored(rule: &Value) -> Result<Condition, ConditionError> {
        Self::compile(rule)
    }

    fn compile(rule: &Value) -> Result<Condition, ConditionError> {
        Ok(Condition {
            rule: Arc::new(rule.clone()),
            tree: Arc::new(Node::build(rule)?),
        })
    }

    /// The rule as written.
    pub fn rule(&self) -> &Value {
        &self.rule
    }

    /// Whether the condition holds for `data` (an evaluation error counts as not holding).
    pub fn holds(&self, data: &Value) -> bool {
        self.tree.holds(data)
    }

    /// [`Self::holds`] for data prepared once for many conditions.
    pub fn holds_for(&self, facts: &Facts) -> bool {
        self.tree.holds_for(facts)
    }

    /// Whether the condition holds for `data`, and why: every sub-condition of `and`, `or`
    /// and `!` with its own result and the values of the names it read.
    pub fn explain(&self, data: &Value) -> Explanation {
        self.tree.explain(data, &Facts::of(data))
    }

    /// [`Self::explain`] with `facts` prepared from `data` ([`Facts::of`]) for many
    /// conditions.
    pub fn explain_with(&self, data: &Value, facts: &Facts) -> Explanation {
        self.tree.explain(data, facts)
    }

    /// The names the condition reads.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_vars(&self.rule, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

/// Data converted once into the evaluator's own form, for evaluating many conditions
/// against it ([`Condition::holds_for`]): converting it per condition costs more than most
/// conditions do. The tree lives in an arena it owns, walked from the JSON value directly.
pub struct Facts(PreparedCell);

self_cell::self_cell!(
    struct PreparedCell {
        owner: datalogic_rs::bumpalo::Bump,
        #[covariant]
        dependent: DataValue,
    }
);

impl Facts {
    /// `data`, prepared.
    pub fn of(data: &Value) -> Self {
        Self(PreparedCell::new(
            datalogic_rs::bumpalo::Bump::new(),
            |arena| DataValue::from_serde_value_in(data, arena),
        ))
    }
}

/// How one (sub-)condition evaluated.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The (sub-)condition.
    #[schema(schema_with = super::document_schema::sub_condition)]
    pub condition: Arc<Value>,
    /// Whether it held.
    pub held: bool,
    /// The values it read (`null` when the customer has no such value).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, Value>,
    /// Its sub-conditions, for `and`, `or` and `!`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub parts: Vec<Explanation>,
}

/// `rule` with every comparison guarded so that a missing value never matches: JSONLogic
/// coerces `null` (a value the customer does not have) to 0 or "", so `income < 5000` would
/// hold for a customer with no income. Each comparison that reads names becomes
/// `{"and": [{"!==": [{"var": name}, null]}, …, comparison]}`; the stored and shown rule is
/// the original.
fn guarded(rule: &Value) -> Value {
    match operator(rule) {
        Some((op, args)) if matches!(op, "and" | "or" | "!" | "!!") => {
            let inner: Vec<Value> = args_of(args).into_iter().map(guarded).collect();
            serde_json::json!({ op: inner })
        }
        Some((op, _)) if op != "var" => {
            let mut names = Vec::new();
            collect_vars(rule, &mut names);
            if names.is_empty() {
                return rule.clone();
            }
            names.sort();
            names.dedup();
            let mut all: Vec<Value> = names
                .into_iter()
                .map(|n| serde_json::json!({"!==": [{"var": n}, null]}))
                .collect();
            all.push(rule.clone());
            serde_json::json!({ "and": all })
        }
        _ => rule.clone(),
    }
}

/// A dotted name's value in `data`.
fn lookup<'a>(data: &'a Value, name: &str) -> Option<&'a Value> {
    let mut v = data;
    for part in name.split('.') {
        v = v.get(part)?;
    }
    Some(v)
}

fn operator(rule: &Value) -> Option<(&str, &Value)> {
    match rule {
        Value::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

fn args_of(args: &Value) -> Vec<&Value> {
    match args {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn collect_vars(rule: &Value, out: &mut Vec<String>) {
    match rule {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "var" {
                    if let Some(name) = var_name(v) {
                        out.push(name.to_owned());
                    }
                } else {
                    collect_vars(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_vars(v, out)),
        _ => {}
    }
}

fn var_name(arg: &Value) -> Option<&str> {
    match arg {
        Value::String(s) => Some(s),
        Value::Array(a) if a.len() == 1 => a[0].as_str(),
        _ => None,
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn check(
    rule: &Value,
    vocabulary: &Vocabulary,
    path: &str,
    depth: usize,
    nodes: &mut usize,
) -> Result<NodeType, ConditionError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(err(
            path,
            format!("a condition has at most {MAX_NODES} nodes"),
        ));
    }
    if depth > MAX_DEPTH {
        return Err(err(
            path,
            format!("a condition nests at most {MAX_DEPTH} deep"),
        ));
    }
    match rule {
        Value::Null => Ok(NodeType::Null),
        Value::Bool(_) => Ok(NodeType::Boolean),
        Value::Number(_) => Ok(NodeType::Number),
        Value::String(_) => Ok(NodeType::String),
        Value::Array(items) => {
            let mut family = None;
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}/{i}");
                let t = match item {
                    Value::Number(_) => VarType::Number,
                    Value::String(_) => VarType::String,
                    _ => return Err(err(&p, "a list holds only numbers or only strings")),
                };
                *nodes += 1;
                if *nodes > MAX_NODES {
                    return Err(err(
                        &p,
                        format!("a condition has at most {MAX_NODES} nodes"),
                    ));
                }
                if family.is_some_and(|f| f != t) {
                    return Err(err(&p, "a list holds only numbers or only strings"));
                }
                family = Some(t);
            }
            Ok(NodeType::List(family))
        }
        Value::Object(map) => check_operator(map, vocabulary, path, depth, nodes),
    }
}

fn check_operator(
    map: &Map<String, Value>,
    vocabulary: &Vocabulary,
    path: &str,
    depth: usize,
    nodes: &mut usize,
) -> Result<NodeType, ConditionError> {
    let Some((op, raw)) = map.iter().next().filter(|_| map.len() == 1) else {
        return Err(err(
            path,
            "an operation is an object with exactly one operator",
        ));
    };
    let here = format!("{path}/{}", escape(op));
    if op == "var" {
        let Some(name) = var_name(raw) else {
            return Err(err(&here, "var takes one name"));
        };
        return match vocabulary.get(name) {
            Some(t) => Ok(NodeType::Var(t)),
            None => Err(err(&here, format!("unknown name {name}"))),
        };
    }
    if !ALLOWED.contains(&op.as_str()) {
        return Err(err(
            &here,
            format!(
                "operator {op} is not allowed (allowed: {})",
                ALLOWED.join(", ")
            ),
        ));
    }
    let args = args_of(raw);
    let arg_path = |i: usize| {
        if raw.is_array() {
            format!("{here}/{i}")
        } else {
            here.clone()
        }
    };
    let mut types = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        types.push(check(a, vocabulary, &arg_path(i), depth + 1, nodes)?);
    }
    match op.as_str() {
        "and" | "or" => {
            if args.is_empty() {
                return Err(err(&here, format!("{op} needs at least one condition")));
            }
            for (i, t) in types.iter().enumerate() {
                if !t.is_boolean() {
                    return Err(err(
                        &arg_path(i),
                        format!("{op} combines conditions, this is a {}", t.describe()),
                    ));
                }
            }
            Ok(NodeType::Boolean)
        }
        "!" | "!!" => {
            if args.len() != 1 || !types[0].is_boolean() {
                return Err(err(&here, format!("{op} takes one condition")));
            }
            Ok(NodeType::Boolean)
        }
        "==" | "!=" | "===" | "!==" => {
            if args.len() != 2 {
                return Err(err(&here, format!("{op} compares two values")));
            }
            same_family(&types, &arg_path, op, true)?;
            Ok(NodeType::Boolean)
        }
        "<" | "<=" | ">" | ">=" => {
            let between = matches!(op.as_str(), "<" | "<=") && args.len() == 3;
            if args.len() != 2 && !between {
                return Err(err(&here, format!("{op} compares two values")));
            }
            same_family(&types, &arg_path, op, false)?;
            Ok(NodeType::Boolean)
        }
        "in" => {
            if args.len() != 2 {
                return Err(err(&here, "in takes a value and where to look for it"));
            }
            match (types[0], types[1]) {
                (
                    NodeType::String | NodeType::Var(VarType::String),
                    NodeType::Var(VarType::StringSet),
                ) => {}
                (a, NodeType::List(Some(item))) => {
                    let ok = match item {
                        VarType::Number => a.family() == Some("number"),
                        _ => matches!(a.family(), Some("string" | "date")),
                    };
                    if !ok || !matches!(a, NodeType::Var(_)) {
                        return Err(err(
                            &arg_path(0),
                            format!(
                                "a {} cannot be looked for in a list of {}s",
                                a.describe(),
                                item.name()
                            ),
                        ));
                    }
                }
                (_, NodeType::List(None)) => return Err(err(&arg_path(1), "the list is empty")),
                (a, b) => {
                    return Err(err(
                        &here,
                        format!(
                            "in looks for a string in a set of strings or a value in a list, not a {} in a {}",
                            a.describe(),
                            b.describe()
                        ),
                    ));
                }
            }
            Ok(NodeType::Boolean)
        }
        other => Err(err(&here, format!("operator {other} is not allowed"))),
    }
}

fn same_family(
    types: &[NodeType],
    arg_path: &dyn Fn(usize) -> String,
    op: &str,
    equality: bool,
) -> Result<(), ConditionError> {
    let mut seen: Option<&'static str> = None;
    for (i, t) in types.iter().enumerate() {
        let Some(f) = t.family() else {
            return Err(err(
                &arg_path(i),
                format!("{op} cannot compare a {}", t.describe()),
            ));
        };
        if !equality && f == "boolean" {
            return Err(err(&arg_path(i), format!("{op} cannot order booleans")));
        }
        // A date compares with a date name or a `YYYY-MM-DD` literal.
        let f = if f == "string" && seen == Some("date") {
            "date"
        } else {
            f
        };
        if let Some(s) = seen {
            let compatible = s == f || (s == "string" && f == "date");
            if !compatible {
                return Err(err(
                    &arg_path(i),
                    format!("{op} compares a {s} with a {}", t.describe()),
                ));
            }
        }
        seen = Some(if f == "date" {
            "date"
        } else {
            seen.unwrap_or(f)
        });
    }
    if !types.iter().any(|t| matches!(t, NodeType::Var(_))) {
        return Err(err(
            &arg_path(0),
            format!("{op} must read at least one name"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vocab() -> Vocabulary {
        Vocabulary::new()
            .with("age", VarType::Number)
            .with("risk_class", VarType::String)
            .with("is_globetrotter", VarType::Boolean)
            .with("products_held", VarType::StringSet)
            .with("birth_date", VarType::Date)
            .with("params.amount", VarType::Number)
            .with("personas.globetrotter", VarType::Boolean)
    }

    #[test]
    fn prepared_facts_evaluate_as_the_data_does() {
        let conditions = [
            json!({"and": [{">=": [{"var": "age"}, 30]}, {"<=": [{"var": "age"}, 45]}, {"==": [{"var": "risk_class"}, "low"]}]}),
            json!({"<": [{"var": "age"}, 30]}),
            json!({"!=": [{"var": "risk_class"}, "high"]}),
            json!({"==": [{"var": "is_globetrotter"}, true]}),
            json!({"in": ["mortgage", {"var": "products_held"}]}),
            json!({">": [{"var": "params.amount"}, 2500.5]}),
            json!({"or": [{"var": "personas.globetrotter"}, {"<": [{"var": "birth_date"}, "1990-01-01"]}]}),
        ]
        .map(|c| Condition::parse(&c, &vocab()).unwrap());
        let data = [
            json!({}),
            json!({"age": 35, "risk_class": "low", "products_held": ["mortgage"]}),
            json!({"age": 29.5, "risk_class": "high", "is_globetrotter": true}),
            json!({"params": {"amount": 2500.51}, "birth_date": "1985-03-04"}),
            json!({"params": {"amount": 2500}, "personas": {"globetrotter": true}, "age": null}),
            json!({"age": 9007199254740993u64, "products_held": []}),
        ];
        let mut held = 0;
        for d in &data {
            let facts = Facts::of(d);
            for c in &conditions {
                assert_eq!(c.holds_for(&facts), c.holds(d), "{:?} on {d}", c.rule);
                held += usize::from(c.holds(d));
            }
        }
        assert!(held >= 8, "the cases are not all misses: {held}");
    }

    #[test]
    fn the_issue_personas_parse_and_evaluate() {
        let prime = Condition::parse(
            &json!({"and": [{">=": [{"var": "age"}, 30]}, {"<=": [{"var": "age"}, 45]}, {"==": [{"var": "risk_class"}, "low"]}]}),
            &vocab(),
        )
        .unwrap();
        assert!(prime.holds(&json!({"age": 35, "risk_class": "low"})));
        assert!(!prime.holds(&json!({"age": 50, "risk_class": "low"})));
        assert!(!prime.holds(&json!({})), "missing values never match");
        let poor = Condition::parse(&json!({"<": [{"var": "age"}, 30]}), &vocab()).unwrap();
        assert!(!poor.holds(&json!({})), "null is not less than 30");
        assert!(!poor.explain(&json!({})).held);
        let not_high =
            Condition::parse(&json!({"!=": [{"var": "risk_class"}, "high"]}), &vocab()).unwrap();
        assert!(
            !not_high.holds(&json!({})),
            "an unknown class is not known to differ"
        );
        assert!(not_high.holds(&json!({"risk_class": "low"})));
        let globetrotter =
            Condition::parse(&json!({"==": [{"var": "is_globetrotter"}, true]}), &vocab()).unwrap();
        assert!(globetrotter.holds(&json!({"is_globetrotter": true})));
        assert!(!globetrotter.holds(&json!({"is_globetrotter": false})));
    }

    #[test]
    fn explanations_say_which_parts_held() {
        let c = Condition::parse(
            &json!({"and": [{">=": [{"var": "age"}, 30]}, {"==": [{"var": "risk_class"}, "low"]}]}),
            &vocab(),
        )
        .unwrap();
        let e = c.explain(&json!({"age": 35, "risk_class": "high"}));
        assert!(!e.held);
        assert_eq!(e.parts.len(), 2);
        assert!(e.parts[0].held);
        assert_eq!(e.parts[0].values["age"], json!(35));
        assert!(!e.parts[1].held);
        assert_eq!(e.parts[1].values["risk_class"], json!("high"));
    }

    #[test]
    fn unknown_names_and_type_mismatches_name_the_path() {
        let e = Condition::parse(&json!({"and": [{"==": [{"var": "salary"}, 1]}]}), &vocab())
            .unwrap_err();
        assert_eq!(e.path, "/and/0/==/0/var");
        assert!(e.message.contains("unknown name salary"));
        let e = Condition::parse(&json!({">": [{"var": "age"}, "thirty"]}), &vocab()).unwrap_err();
        assert_eq!(e.path, "/>/1");
        let e = Condition::parse(&json!({"==": [{"var": "is_globetrotter"}, 1]}), &vocab())
            .unwrap_err();
        assert_eq!(e.path, "/==/1");
        let e = Condition::parse(&json!({"var": "age"}), &vocab()).unwrap_err();
        assert_eq!(e.path, "");
    }

    #[test]
    fn only_the_safe_subset_is_allowed() {
        for rule in [
            json!({"map": [{"var": "products_held"}, {"var": ""}]}),
            json!({"reduce": [[1, 2], {"+": [{"var": "current"}, 1]}, 0]}),
            json!({"+": [{"var": "age"}, 1]}),
            json!({"==": [1, 1]}),
            json!({"==": [{"var": "age"}, 1], "!=": [1, 2]}),
        ] {
            assert!(
                Condition::parse(&rule, &vocab()).is_err(),
                "{rule} accepted"
            );
        }
        let mut deep = json!({"==": [{"var": "age"}, 1]});
        for _ in 0..MAX_DEPTH + 1 {
            deep = json!({"!": [{"!": [deep]}]});
        }
        assert!(Condition::parse(&deep, &vocab()).is_err());
        let wide: Vec<Value> = (0..MAX_NODES)
            .map(|i| json!({"==": [{"var": "age"}, i]}))
            .collect();
        assert!(Condition::parse(&json!({"or": wide}), &vocab()).is_err());
    }

    #[test]
    fn sets_lists_dates_and_between() {
        let v = vocab();
        let c =
            Condition::parse(&json!({"in": ["gold_card", {"var": "products_held"}]}), &v).unwrap();
        assert!(c.holds(&json!({"products_held": ["gold_card", "loan"]})));
        assert!(!c.holds(&json!({"products_held": []})));
        let c = Condition::parse(
            &json!({"in": [{"var": "risk_class"}, ["low", "medium"]]}),
            &v,
        )
        .unwrap();
        assert!(c.holds(&json!({"risk_class": "medium"})));
        let c = Condition::parse(&json!({"<": ["1990-01-01", {"var": "birth_date"}]}), &v).unwrap();
        assert!(c.holds(&json!({"birth_date": "1995-06-01"})));
        let c =
            Condition::parse(&json!({"<=": [5000, {"var": "params.amount"}, 10000]}), &v).unwrap();
        assert!(c.holds(&json!({"params": {"amount": 7500}})));
        assert!(!c.holds(&json!({"params": {"amount": 12000}})));
    }
}
