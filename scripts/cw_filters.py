"""CloudWatch Logs metric filters, evaluated locally: the JSON filter-pattern syntax
(the subset template.yaml uses) and the metric filters of a template.

Used by scripts/check-alerts.py (the patterns against a run's real lines) and
scripts/dashboard.py (metric-filter metrics drawn from a run's lines, as CloudWatch
would count them).
"""

import json
import re

TOKEN = re.compile(r'\s*(\{|\}|\(|\)|&&|\|\||>=|<=|!=|=|>|<|"(?:[^"\\]|\\.)*"|\$[\w.\[\]]+|[^\s(){}&|=<>!]+)')


def tokenize(pattern):
    tokens, pos = [], 0
    while pos < len(pattern):
        match = TOKEN.match(pattern, pos)
        if not match:
            if pattern[pos:].strip():
                raise ValueError(f"cannot read filter pattern at {pattern[pos:]!r}")
            break
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class Pattern:
    """`{ $.a = "x" && ($.b >= 500 || $.c != "y*") }`: selectors, = != > < >= <=,
    quoted or bare values, "*" wildcards in strings, && and || with parentheses."""

    def __init__(self, text):
        self.text = text
        self.tokens = tokenize(text)
        if self.tokens[:1] != ["{"] or self.tokens[-1:] != ["}"]:
            raise ValueError(f"not a JSON filter pattern: {text!r}")
        self.pos = 1
        self.tree = self.parse_or()
        if self.tokens[self.pos] != "}":
            raise ValueError(f"unexpected {self.tokens[self.pos]!r} in {text!r}")

    def next(self):
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self):
        node = self.parse_and()
        while self.tokens[self.pos] == "||":
            self.pos += 1
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_term()
        while self.tokens[self.pos] == "&&":
            self.pos += 1
            node = ("and", node, self.parse_term())
        return node

    def parse_term(self):
        token = self.next()
        if token == "(":
            node = self.parse_or()
            if self.next() != ")":
                raise ValueError(f"unbalanced parentheses in {self.text!r}")
            return node
        if not token.startswith("$."):
            raise ValueError(f"expected a selector, got {token!r} in {self.text!r}")
        op, value = self.next(), self.next()
        return ("cmp", token[2:].split("."), op, value)

    def matches(self, line):
        return self.evaluate(self.tree, line)

    def evaluate(self, node, line):
        if node[0] == "and":
            return self.evaluate(node[1], line) and self.evaluate(node[2], line)
        if node[0] == "or":
            return self.evaluate(node[1], line) or self.evaluate(node[2], line)
        _, path, op, raw = node
        value = line
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return False
            value = value[key]
        if raw.startswith('"'):
            if op not in ("=", "!="):
                raise ValueError(f"{op} on a string in {self.text!r}")
            wanted = json.loads(raw)
            regex = "^" + ".*".join(re.escape(part) for part in wanted.split("*")) + "$"
            found = isinstance(value, str) and re.match(regex, value) is not None
            return found if op == "=" else not found
        try:
            number = float(raw)
        except ValueError:
            found = isinstance(value, str) and value == raw
            return found if op == "=" else not found
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return {"=": value == number, "!=": value != number, ">": value > number,
                "<": value < number, ">=": value >= number, "<=": value <= number}[op]


def selected(line, selector):
    value = line
    for key in selector[2:].split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def metric_filters(template):
    """(logical id, Pattern, its metric transformation, log group) of each
    AWS::Logs::MetricFilter of a parsed template."""
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Logs::MetricFilter":
            props = resource["Properties"]
            found.append((name, Pattern(props["FilterPattern"]), props["MetricTransformations"][0],
                          props["LogGroupName"]))
    return found
