"""What the formats' shape kinds mean: shared by their readers and the rules that judge them."""

# LabelMe `shape_type` -> the points it needs: (minimum, maximum or None)
LABELME_POINTS = {"polygon": (3, None), "rectangle": (2, 2), "circle": (2, 2), "mask": (2, 2),
                  "line": (2, 2), "linestrip": (2, None), "point": (1, 1), "points": (1, None)}
# LabelMe shapes that enclose an area (the others cannot become an instance mask)
LABELME_AREA_SHAPES = frozenset({"polygon", "rectangle", "circle", "mask"})
# YOLO label rows: a box (class cx cy w h) or a polygon (class x1 y1 x2 y2 ...)
YOLO_BOX, YOLO_POLYGON = 1, 2
