#define QUOTED_LOCAL 11
#include "sibling.h"
