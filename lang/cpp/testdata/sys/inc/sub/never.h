#define NEVER_READ 1
