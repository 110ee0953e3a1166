#compdef tktctl

_tktctl_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _TKTCTL_COMPLETE=complete_zsh tktctl)
}

compdef _tktctl_completion tktctl
