# bash completion for opbound (installed as share/bash-completion/completions/opbound).
# Commands, each command's options (read from its --help, so never stale) and
# the bundled model and device names (read from `opbound list`).
_opbound()
{
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=${COMP_WORDS[1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "analyze compare import list serve schema roofline sweep report calibrate validate predict --help --version" -- "$cur"))
        return
    fi
    case $prev in
        --hw)
            COMPREPLY=($(compgen -W "$(opbound list hw 2>/dev/null | awk 'NR>2 && NF && !/^\(/ {print $1}')" -- "$cur"))
            compopt -o default 2>/dev/null
            return ;;
        --phase) COMPREPLY=($(compgen -W "prefill decode both" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "table csv json" -- "$cur")); return ;;
        --weight-dtype|--kv-dtype) COMPREPLY=($(compgen -W "fp32 bf16 fp16 fp8 int8 int4 int4_g128 nvfp4 mxfp4" -- "$cur")); return ;;
        -o) compopt -o default 2>/dev/null; COMPREPLY=(); return ;;
    esac
    if [ "$cmd" = list ]; then
        COMPREPLY=($(compgen -W "models hw kinds" -- "$cur")); return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(opbound "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
        return
    fi
    case $cmd in
        analyze|compare|roofline|sweep)
            COMPREPLY=($(compgen -W "$(opbound list models 2>/dev/null | awk 'NR>2 && NF && !/^\(/ {print $1}')" -- "$cur"))
            compopt -o default 2>/dev/null ;;
        *) compopt -o default 2>/dev/null; COMPREPLY=() ;;
    esac
}
complete -F _opbound opbound
