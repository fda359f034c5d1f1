#include "tests/integration/ops/promql_names.h"

#include <cctype>
#include <optional>
#include <string_view>

namespace kmirror::testing {
namespace {

bool IdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IdentChar(char c) { return IdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Aggregation operators may be written `sum by (x) (...)`, so the name is not always followed by
// "(": they are never metric names.
const std::set<std::string, std::less<>> kAggregations = {
    "sum",    "min",   "max",  "avg",          "group",   "stddev",
    "stdvar", "count", "topk", "count_values", "bottomk", "quantile"};
const std::set<std::string, std::less<>> kLabelListKeywords = {
    "by", "without", "on", "ignoring", "group_left", "group_right"};
const std::set<std::string, std::less<>> kKeywords = {"and",    "or",  "unless", "bool",
                                                      "offset", "inf", "nan",    "atan2"};

// Index just past the bracket that closes the one at `at`, skipping quoted strings inside.
size_t SkipBalanced(const std::string& s, size_t at, char open, char close) {
  int depth = 0;
  for (size_t i = at; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\' && c != '`') ++i;
      }
      continue;
    }
    if (c == open) ++depth;
    if (c == close && --depth == 0) return i + 1;
  }
  return s.size();
}

size_t SkipSpace(const std::string& s, size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
  return i;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])) != 0) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::set<std::string> PromqlMetricNames(const std::string& e) {
  std::set<std::string> names;
  size_t i = 0;
  while (i < e.size()) {
    const char c = e[i];
    if (c == '"' || c == '\'' || c == '`') {
      // A string literal (label_replace arguments, ...).
      for (++i; i < e.size() && e[i] != c; ++i) {
        if (e[i] == '\\' && c != '`') ++i;
      }
      ++i;
    } else if (c == '{') {
      i = SkipBalanced(e, i, '{', '}');  // label matchers
    } else if (c == '[') {
      i = SkipBalanced(e, i, '[', ']');  // range, subquery step, Grafana [[var]]
    } else if (c == '#') {
      while (i < e.size() && e[i] != '\n') ++i;  // comment
    } else if (c == '$') {
      // Grafana variable: $name or ${name[:format]}.
      ++i;
      if (i < e.size() && e[i] == '{') {
        i = SkipBalanced(e, i, '{', '}');
      } else {
        while (i < e.size() && IdentChar(e[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
               (c == '.' && i + 1 < e.size() &&
                std::isdigit(static_cast<unsigned char>(e[i + 1])))) {
      // A number or a duration: 0.99, 1e-3, 0x1f, 5m, 1h30m.
      while (i < e.size() &&
             (std::isalnum(static_cast<unsigned char>(e[i])) != 0 || e[i] == '.' ||
              ((e[i] == '+' || e[i] == '-') && (e[i - 1] == 'e' || e[i - 1] == 'E')))) {
        ++i;
      }
    } else if (IdentStart(c)) {
      const size_t start = i;
      while (i < e.size() && IdentChar(e[i])) ++i;
      const std::string word = e.substr(start, i - start);
      const size_t next = SkipSpace(e, i);
      if (kLabelListKeywords.count(word) != 0) {
        if (next < e.size() && e[next] == '(') i = SkipBalanced(e, next, '(', ')');
      } else if (kAggregations.count(word) != 0 || kKeywords.count(word) != 0) {
        // not a metric
      } else if (next < e.size() && e[next] == '(') {
        // a function call
      } else {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

std::set<std::string> GrafanaVariableMetricNames(const std::string& query) {
  const std::string q = Trim(query);
  auto call = [&](std::string_view fn) -> std::optional<std::string> {
    if (q.rfind(fn, 0) != 0) return std::nullopt;
    const size_t open = SkipSpace(q, fn.size());
    if (open >= q.size() || q[open] != '(') return std::nullopt;
    const size_t close = SkipBalanced(q, open, '(', ')');
    return q.substr(open + 1, close - open - 2);
  };
  if (auto args = call("label_values")) {
    // label_values(label) or label_values(series, label): the label is the last argument.
    size_t comma = std::string::npos;
    int depth = 0;
    for (size_t i = 0; i < args->size(); ++i) {
      const char c = (*args)[i];
      if (c == '(' || c == '{' || c == '[') ++depth;
      if (c == ')' || c == '}' || c == ']') --depth;
      if (c == '"') {
        for (++i; i < args->size() && (*args)[i] != '"'; ++i) {
          if ((*args)[i] == '\\') ++i;
        }
      }
      if (c == ',' && depth == 0) comma = i;
    }
    if (comma == std::string::npos) return {};
    return PromqlMetricNames(args->substr(0, comma));
  }
  if (call("label_names") || call("metrics")) return {};
  if (auto inner = call("query_result")) return PromqlMetricNames(*inner);
  return PromqlMetricNames(q);
}

std::set<std::string> ExposedSampleNames(const std::string& exposition) {
  std::set<std::string> names;
  size_t at = 0;
  while (at < exposition.size()) {
    size_t end = exposition.find('\n', at);
    if (end == std::string::npos) end = exposition.size();
    std::string_view line(exposition.data() + at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t n = 0;
    while (n < line.size() && IdentChar(line[n])) ++n;
    if (n > 0) names.insert(std::string(line.substr(0, n)));
  }
  return names;
}

std::vector<std::string> RuleFileExpressions(const std::string& yaml) {
  std::vector<std::string> lines;
  for (size_t at = 0; at < yaml.size();) {
    size_t end = yaml.find('\n', at);
    if (end == std::string::npos) end = yaml.size();
    lines.push_back(yaml.substr(at, end - at));
    at = end + 1;
  }
  auto indent_of = [](const std::string& l) {
    size_t n = 0;
    while (n < l.size() && (l[n] == ' ' || l[n] == '-')) ++n;
    return n;
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t key = indent_of(line);
    if (line.compare(key, 5, "expr:") != 0) continue;
    std::string value = Trim(std::string_view(line).substr(key + 5));
    if (!value.empty() && (value[0] == '|' || value[0] == '>')) {
      // Block scalar: every following line indented deeper than the key (or blank).
      std::string block;
      for (size_t j = i + 1; j < lines.size(); ++j) {
        const std::string t = Trim(lines[j]);
        size_t spaces = 0;
        while (spaces < lines[j].size() && lines[j][spaces] == ' ') ++spaces;
        if (!t.empty() && spaces <= key) break;
        block += t + "\n";
        i = j;
      }
      out.push_back(block);
      continue;
    }
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      std::string unquoted;
      for (size_t k = 1; k + 1 < value.size(); ++k) {
        unquoted += value[k];
        if (value[k] == '\'' && value[k + 1] == '\'') ++k;  // '' is one quote
      }
      value = unquoted;
    } else if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      std::string unquoted;
      for (size_t k = 1; k + 1 < value.size(); ++k) {
        if (value[k] == '\\' && k + 2 < value.size()) ++k;
        unquoted += value[k];
      }
      value = unquoted;
    }
    out.push_back(value);
  }
  return out;
}

bool IsScrapeSyntheticMetric(const std::string& name) {
  static const std::set<std::string, std::less<>> kSynthetic = {
      "up", "scrape_duration_seconds", "scrape_samples_scraped",
      "scrape_samples_post_metric_relabeling", "scrape_series_added"};
  return kSynthetic.count(name) != 0;
}

}  // namespace kmirror::testing
