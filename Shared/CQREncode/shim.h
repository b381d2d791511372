#ifndef CONTACTPOINT_CQRENCODE_SHIM_H
#define CONTACTPOINT_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
