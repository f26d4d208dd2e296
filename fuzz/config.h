/* config.h for the fuzz harnesses: they build lib/ sources directly, without
 * configure (lib/ includes "config.h" first; nothing in it is needed here). */
#define PACKAGE "ferry"
#define PACKAGE_VERSION "fuzz"
#define VERSION "fuzz"
