#!/bin/sh
# man.sh BIN PAGE VERSION - writes the man page PAGE ("opbound" or
# "opbound-CMD") in roff to standard output, made from `BIN [CMD] --help`, so
# the page and the help text are one text and cannot drift apart. The help is
# kept line for line (.nf) under NAME / SYNOPSIS / DESCRIPTION; options are the
# help's own two-column lines.
set -eu
bin=$1 page=$2 version=$3
if [ "$page" = opbound ]; then
  help=$("$bin" --help); what="cost model for attention and MoE designs of LLMs"; cmd=""
else
  cmd=${page#opbound-}; help=$("$bin" "$cmd" --help)
  what=$("$bin" --help | awk -v c="$cmd" '$1 == c { sub(/^.*[^ ]   +/, ""); print; exit }')
  [ -n "$what" ] || what="opbound $cmd"
fi
up=$(printf '%s' "$page" | tr a-z A-Z)
printf '.TH %s 1 "" "opbound %s" "opbound manual"\n' "$up" "$version"
printf '.SH NAME\n%s \\- %s\n' "$page" "$(printf '%s' "$what" | sed 's/\\/\\e/g; s/-/\\-/g')"
printf '.SH DESCRIPTION\n.nf\n'
# roff escapes: backslash, a leading dot or quote, hyphens in option names.
printf '%s\n' "$help" | sed 's/\\/\\e/g; s/-/\\-/g; s/^\([.'"'"']\)/\\\&\1/'
printf '.fi\n'
printf '.SH ENVIRONMENT\n.TP\n.B OPBOUND_DATA\nfolder holding the bundled models/ and hw/; when unset they are looked\nfor beside the program (PREFIX/share/opbound, or the clone it was built in).\n'
printf '.SH EXIT STATUS\n0 success, 2 bad input or usage, 1 any other failure.\n'
if [ -z "$cmd" ]; then
  printf '.SH SEE ALSO\n'
  for c in analyze compare import list serve schema roofline sweep report calibrate validate predict; do
    printf '.BR opbound\\-%s (1)\n' "$c"
  done
else
  printf '.SH SEE ALSO\n.BR opbound (1)\n'
fi
