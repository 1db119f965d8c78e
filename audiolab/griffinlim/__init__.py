"""The Griffin-Lim tab: reconstruction with a convergence curve, metrics and figures
(``compute``) and code snippets."""
