/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/report.h"
#include "pyheapdiff/report.h"

int main(void)
{
    struct phd_report_gathered *x = NULL;
    return x == NULL ? 0 : 1;
}
