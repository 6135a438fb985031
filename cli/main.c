/* se05x CLI (placeholder). */
#include <stdio.h>
int main(void) { fputs("se05x: not built yet\n", stderr); return 1; }
