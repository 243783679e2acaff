/*
 * dso.c: linked into the shared library only when it is linked without the
 * start files (meson.build: IBT/BTI marking).  crtbeginS.o would define
 * __dso_handle, by which pthread_atfork (pool.c) tells whose handlers it
 * registers; this is the same definition.  (The white-box tests link the
 * objects into programs that have their own.)
 */
void *__dso_handle __attribute__((visibility("hidden"))) = &__dso_handle;
