/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/paths.h"
#include "pyheapdiff/paths.h"

int main(void)
{
    struct phd_path_groups pg = {0};
    struct phd_path_group g = {0, 0};
    (void)g;
    return pg.n == 0 && PHD_PATHS_MAX_HOPS > PHD_PATHS_HEAD + PHD_PATHS_TAIL ? 0 : 1;
}
