/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/format.h"
#include "pyheapdiff/format.h"

int main(void)
{
    struct phd_snapshot *s = 0;
    struct phd_writer w;
    (void)sizeof w;
    return s == 0 && PHD_FOOTER_SIZE == 64 ? 0 : 1;
}
