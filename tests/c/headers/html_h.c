/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/html.h"
#include "pyheapdiff/html.h"

int main(void)
{
    struct phd_report r = {0};
    struct phd_html h = {0};
    return r.n_rows == 0 && h.failed == 0 ? 0 : 1;
}
