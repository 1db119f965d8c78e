"""The timeline: the data the browser's interactive view of sound draws (waveform peaks, dB
spectrograms, feature layers, overlays and labelled regions on one time axis), computed with
torchaudio on the server, quantised and compressed for transfer (``compute``), and the store
of recent views that zoom tiles and on-demand overlays are computed from (``store``)."""
