/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/outfile.h"
#include "pyheapdiff/outfile.h"

int main(void)
{
    struct phd_outfile o;
    (void)sizeof o;
    return PHD_OUTFILE_STDOUT == 1 ? 0 : 1;
}
