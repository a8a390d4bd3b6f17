/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/findings.h"
#include "pyheapdiff/findings.h"

int main(void)
{
    struct phd_findings f = {0};
    uint8_t m[1] = {0};
    PHD_MARK(m, 3);
    return f.n == 0 && PHD_MARKED(m, 3) ? 0 : 1;
}
