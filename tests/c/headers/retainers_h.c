/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/retainers.h"
#include "pyheapdiff/retainers.h"

int main(void)
{
    struct phd_retainers r = {0};
    return r.n_order == 0 ? 0 : 1;
}
