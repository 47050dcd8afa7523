"""Identity replacement by a learned generator: a face's outline (68 landmarks), its surroundings
(the photo with an ellipse over the face blanked out) and a few measurable attributes go in; a new
face that keeps the pose and expression comes out (issue 11's reconstruct-and-generate system).

Modules: :mod:`~facecloak.replace.crops` (alignment, ellipse, landmark maps),
:mod:`~facecloak.replace.attributes` (measures and their tokens), :mod:`~facecloak.replace.prepare`
(the cached training set), :mod:`~facecloak.replace.model` (U-Net and patch discriminator),
:mod:`~facecloak.replace.train` (resumable training), :mod:`~facecloak.replace.weights` (fp16
export and loading).
"""
