/* se05x-sim daemon (placeholder until the daemon lands). */
#include <stdio.h>
int main(void) { fputs("se05x-sim: not built yet\n", stderr); return 1; }
