// Nothing to compile beyond the header: the class is defined inline.
#include "fragile.hpp"
