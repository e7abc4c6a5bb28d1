// rotate.hpp is header-only; this file gives CMake a source to compile.
#include "rotate.hpp"
