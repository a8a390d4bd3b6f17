/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/error.h"
#include "pyheapdiff/error.h"

int main(void)
{
    struct phd_error err;
    (void)sizeof err;
    return PHD_EXIT_OK;
}
