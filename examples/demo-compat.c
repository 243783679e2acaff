/*
 * demo-compat: the original two-task coop program, unchanged except for its
 * #include.  <coop/compat.h> maps the original API (make_context, add_task,
 * start, yield, dump) onto libcoop.  Each task runs on a 4096-byte stack the
 * program mallocs itself.
 *
 * Prints:
 *   Func1: 1
 *   Func2: 1
 *   Func1: 2
 *   Func2: 2
 */
#include <stdio.h>
#include <stdlib.h>

#include <coop/compat.h>

void my_async_func() { puts("Func1: 1"); yield; puts("Func1: 2"); dump; }
void my_async_func2() { puts("Func2: 1"); yield; puts("Func2: 2"); dump; }
int main() {
    coop_context ctx = make_context();
    task_t t1 = {0}, t2 = {0};
    coop_stack s1 = {.size = 4096, .stack_bottom = malloc(4096)};
    coop_stack s2 = {.size = 4096, .stack_bottom = malloc(4096)};
    add_task(&ctx, &t1, s1, my_async_func);
    add_task(&ctx, &t2, s2, my_async_func2);
    start(&ctx);
    free(s1.stack_bottom); free(s2.stack_bottom);
    return 0;
}
