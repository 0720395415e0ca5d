/* `argus video`: camera sources (probe a URL, show its counters). */
#ifndef ARGUS_CLI_VIDEO_H
#define ARGUS_CLI_VIDEO_H

#include <stdio.h>

int cli_video_main(int argc, char **argv);
void cli_video_usage(FILE *f);

#endif
