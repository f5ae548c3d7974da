/* version.h: the version string every binary reports. */
#ifndef UCGW_VERSION_H
#define UCGW_VERSION_H

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#define UCGW_VERSION PACKAGE_VERSION

#endif
