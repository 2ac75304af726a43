// The names of the enums, one table each: what the configuration accepts and
// what result files, messages and the manifest print. to_string and the
// configuration reader both read these tables, so a name is written once.
#pragma once

#include <cstddef>

#include "core/model.h"
#include "math/gaussian.h"

namespace tsgd {

template <typename Enum>
struct EnumName {
  Enum value;
  const char* name;
};

// Specialised for each enum with a static constexpr `table` of EnumName<Enum>.
template <typename Enum>
struct EnumNames;

template <>
struct EnumNames<Activation> {
  static constexpr EnumName<Activation> table[] = {{Activation::erf, "erf"},
                                                   {Activation::relu, "relu"},
                                                   {Activation::linear, "linear"},
                                                   {Activation::quad, "quad"},
                                                   {Activation::sign, "sign"}};
};
template <>
struct EnumNames<TrainMode> {
  static constexpr EnumName<TrainMode> table[] = {{TrainMode::first_layer, "first_layer"},
                                                  {TrainMode::both_layers, "both_layers"}};
};
template <>
struct EnumNames<InitKind> {
  static constexpr EnumName<InitKind> table[] = {
      {InitKind::large, "large"},       {InitKind::small, "small"},     {InitKind::mixed, "mixed"},
      {InitKind::informed, "informed"}, {InitKind::denoise, "denoise"}, {InitKind::file, "file"}};
};
template <>
struct EnumNames<SecondLayerInit> {
  static constexpr EnumName<SecondLayerInit> table[] = {{SecondLayerInit::uniform, "uniform"},
                                                        {SecondLayerInit::gaussian, "gaussian"},
                                                        {SecondLayerInit::flip_half, "flip_half"}};
};
template <>
struct EnumNames<OutputScaling> {
  static constexpr EnumName<OutputScaling> table[] = {{OutputScaling::none, "none"},
                                                      {OutputScaling::inverse, "1/K"},
                                                      {OutputScaling::inverse_sqrt, "1/sqrt(K)"}};
};
template <>
struct EnumNames<TeacherInit> {
  static constexpr EnumName<TeacherInit> table[] = {{TeacherInit::gaussian, "gaussian"},
                                                    {TeacherInit::orthonormal, "orthonormal"},
                                                    {TeacherInit::file, "file"}};
};
template <>
struct EnumNames<Precision> {
  static constexpr EnumName<Precision> table[] = {{Precision::float32, "float32"},
                                                  {Precision::float64, "float64"}};
};

template <>
struct EnumNames<RngTransform> {
  static constexpr EnumName<RngTransform> table[] = {{RngTransform::exact, "exact"},
                                                     {RngTransform::fast, "fast"}};
};

// The name of VALUE in its table ("?" for a value outside it).
template <typename Enum>
const char* enum_name(Enum value) {
  for (const EnumName<Enum>& e : EnumNames<Enum>::table)
    if (e.value == value) return e.name;
  return "?";
}

}  // namespace tsgd
