"""How runs look: one list each for the page (sent in its data block) and the HTML report."""

#: Okabe-Ito, colour-blind safe: one colour per run, the same in every view.
RUN_COLORS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7")

# A run is told apart without colour too (greyscale, a black-and-white printout, colour
# blindness): its own dash pattern on the loss chart and marker symbol on the surface and in
# the legend. Plotly's names; the i-th run takes the i-th of each.
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "star")
