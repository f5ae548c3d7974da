/*
 * xlate_cli.h: `ucgw xlate`, the dry run of the translation rules
 * (xlate_cli.c). Returns the process exit status.
 */
#ifndef UCGW_XLATE_CLI_H
#define UCGW_XLATE_CLI_H

int xlate_cli_main(int argc, char **argv);

#endif
