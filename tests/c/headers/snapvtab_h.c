/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/snapvtab.h"
#include "pyheapdiff/snapvtab.h"

int main(void)
{
    struct phd_snapset *set = phd_snapset_new();
    int ok = set != NULL;
    phd_snapset_free(&set);
    return ok && set == NULL ? 0 : 1;
}
