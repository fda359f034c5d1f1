// Metric names referenced by PromQL expressions and Grafana variable queries, and the metric
// names present in a Prometheus text exposition. Lets a test hold the shipped dashboard and alert
// rules against what kmirrord really exports.
//
// The extraction is lexical, not a PromQL parser: it drops strings, label matchers ({...}),
// ranges/subquery steps ([...]), numbers and Grafana variables ($x, ${x}, [[x]]), skips function
// and aggregation names (an identifier followed by "("), PromQL keywords, and the label lists of
// by/without/on/ignoring/group_left/group_right. Every identifier left is a metric name.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace kmirror::testing {

// Metric names referenced by one PromQL expression.
std::set<std::string> PromqlMetricNames(const std::string& expr);

// Metric names referenced by a Grafana Prometheus variable query: label_values(expr, label),
// label_values(label), metrics(regex), query_result(expr); otherwise the query as PromQL.
std::set<std::string> GrafanaVariableMetricNames(const std::string& query);

// Names of the samples of a Prometheus text exposition (histograms: name_bucket/_sum/_count).
std::set<std::string> ExposedSampleNames(const std::string& exposition);

// `expr:` values of a Prometheus rule file, read line by line: single-line values and block
// scalars (| or >, continued by more-indented lines).
std::vector<std::string> RuleFileExpressions(const std::string& yaml);

// Series Prometheus itself adds to every scrape; dashboards and alerts may use them freely.
bool IsScrapeSyntheticMetric(const std::string& name);

}  // namespace kmirror::testing
