"""Built-in rules. Importing this package registers them.

Families: MC0xx/MC1xx (integrity, labels, distribution), geometry MC2xx, image files MC3xx,
LabelMe MC41x, YOLO MC42x, VOC MC44x, CVAT MC45x, framework and splits MC5xx.
"""

from maskcheck.rules import (  # noqa: F401
    class_names,
    cvat_checks,
    distribution,
    duplicate_images,
    framework,
    geometry_background,
    geometry_boxes,
    geometry_crowd,
    geometry_masks,
    geometry_polygons,
    geometry_rle,
    images,
    integrity,
    labelme_checks,
    labels,
    misspelled_keys,
    numbers,
    splits,
    structure,
    voc_checks,
    yolo_checks,
)
