"""The run colours: one list for the page (sent in its data block) and the HTML report."""

#: Okabe-Ito, colour-blind safe: one colour per run, the same in every view.
RUN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7")
