// The conditions of a theory entry and how an entry is reported (holding, or
// skipped with the first condition that fails): shared by the formulas of
// asymptotic.cpp and first_order.cpp. Internal to theory/.
#pragma once

#include <cstdio>
#include <string>

#include "core/model.h"
#include "theory/asymptotic.h"

namespace tsgd::theory_detail {

inline std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

// Why the point's teacher is not the one the closed forms assume (T = I as
// N -> infinity, v* from model.teacher_v and its rules); empty when it is.
inline std::string assumed_teacher_failure(const PointParams& p) {
  const std::string needs = "needs the configured teacher (here ";
  if (p.teacher_init == TeacherInit::file) return needs + "a teacher from model.teacher_file)";
  if (p.teacher_sparsity > 0) return needs + "a sparse teacher, T = (1 - sparsity) I)";
  return "";
}

// The conditions of one formula, checked in order: the first that fails is the
// reason it is skipped; those that hold are its stated conditions.
class Conditions {
 public:
  // CONDITION: what must hold, as a reader would state it; HERE: what the point has
  // instead, shown only when it fails.
  Conditions& require(bool holds, const std::string& condition, const std::string& here = "") {
    if (!failed_.empty()) return *this;
    if (holds)
      held_ += (held_.empty() ? "" : ", ") + condition;
    else
      failed_ = "needs " + condition + (here.empty() ? "" : " (here " + here + ")");
    return *this;
  }
  // A condition whose check produced its own message (empty: it holds).
  Conditions& require_message(const std::string& failure, const std::string& condition) {
    if (!failed_.empty()) return *this;
    if (failure.empty())
      held_ += (held_.empty() ? "" : ", ") + condition;
    else
      failed_ = failure;
    return *this;
  }
  // A condition that every point met before it existed: stated only when it fails
  // (FAILURE non-empty), so that the entries of those points read as they did.
  Conditions& unless(const std::string& failure) {
    if (failed_.empty() && !failure.empty()) failed_ = failure;
    return *this;
  }
  bool hold() const { return failed_.empty(); }
  const std::string& failed() const { return failed_; }
  const std::string& held() const { return held_; }

 private:
  std::string held_, failed_;
};

inline void report(TheoryReport& out, const std::string& formula, const Conditions& c, double eg,
                   bool exact, const std::string& note = "") {
  if (c.hold())
    out.holds.push_back({formula, eg, exact, c.held() + note});
  else
    out.skipped.push_back({formula, c.failed()});
}

inline std::string pair_name(const PointParams& p) {
  return std::string(to_string(p.student_activation)) + " student, " +
         to_string(p.teacher_activation) + " teacher";
}

}  // namespace tsgd::theory_detail
