/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/types.h"
#include "pyheapdiff/types.h"

int main(void) { return PHD_ORIGIN_BIT(PHD_ORIGIN_USER) == 16u ? 0 : 1; }
