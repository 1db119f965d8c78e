"""The Train tab: a frozen backbone with a new ``nn.Linear`` head trained by SGD (``compute``)
and the script that reproduces it (``snippets``)."""
