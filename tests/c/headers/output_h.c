/* The public header compiles on its own, first and twice (include guard). */
#include "pyheapdiff/output.h"
#include "pyheapdiff/output.h"

int main(void)
{
    json_t *doc = 0;
    return doc == 0 ? 0 : 1;
}
