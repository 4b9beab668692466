"""Built-in rules: `BUILTIN` is every one of them, grouped by module.

Families: MC0xx records and ids, MC1xx labels and distribution, MC2xx geometry, MC3xx image
files, LabelMe MC41x, YOLO MC42x, VOC MC44x, CVAT MC45x, SA-1B MC46x, framework and splits MC5xx. A rule's
module is named here beside its code; adding a rule is its class in its module, one line
below, its page in rules/ and its cases in tests/.
"""

from maskcheck.registry import Rule
from maskcheck.rules import (
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
    sa1b_checks,
    splits,
    structure,
    voc_checks,
    yolo_checks,
)

BUILTIN: tuple[type[Rule], ...] = (
    # MC001 MC002
    structure.MalformedRecord, structure.InvalidIdType,
    # MC003 MC004 MC005 MC006 MC007 MC008
    integrity.DuplicateImageId, integrity.DuplicateAnnotationId, integrity.DuplicateCategoryId,
    integrity.DuplicateCategoryName, integrity.OrphanAnnotation, integrity.ImageWithoutAnnotations,
    # MC009
    numbers.NumberAsString,
    # MC010
    misspelled_keys.MisspelledKey,
    # MC101 MC102 MC103 MC104
    labels.StringLabel, labels.UnmappedClass, labels.BackgroundIndexCollision, labels.CountMismatch,
    # MC105 MC106 MC107
    distribution.ClassImbalance, distribution.SingleClassCollapse, distribution.UnusedClass,
    # MC108
    class_names.SimilarClassNames,
    # MC201 MC202 MC203 MC204 MC205 MC223
    geometry_polygons.MalformedSegmentation, geometry_polygons.DegeneratePolygon,
    geometry_polygons.SelfIntersectingPolygon, geometry_polygons.NonFiniteCoordinate,
    geometry_polygons.PolygonOutsideImage, geometry_polygons.UntidyPolygon,
    # MC206 MC207
    geometry_rle.RleSizeMismatch, geometry_rle.InvalidRle,
    # MC208 MC209 MC210 MC211 MC212
    geometry_boxes.InvalidBoxSize, geometry_boxes.BoxOutsideImage, geometry_boxes.BoxConvention,
    geometry_boxes.BoxMaskMismatch, geometry_boxes.InstanceMisalignment,
    # MC213 MC214 MC215 MC218 MC219
    geometry_masks.AreaMismatch, geometry_masks.EmptyMask, geometry_masks.TinyInstance,
    geometry_masks.DuplicateInstance, geometry_masks.ConflictingLabels,
    # MC216 MC217
    geometry_background.BackgroundDominance, geometry_background.NoNegativeImages,
    # MC220 MC221 MC222
    geometry_crowd.InvalidIscrowd, geometry_crowd.CrowdPolygon, geometry_crowd.AllCrowdImage,
    # MC301 MC302 MC303 MC304 MC305 MC306 MC307
    images.MissingImageFile, images.UnreadableImage, images.ImageSizeMismatch, images.InvalidImageSize,
    images.DuplicateFileName, images.FileNameEscapes, images.ImageTooLarge,
    # MC308 MC309
    duplicate_images.DuplicateImage, duplicate_images.DuplicateImageConflictingLabels,
    # MC410 MC411 MC412 MC413 MC414
    labelme_checks.LabelmeShapeNotMask, labelme_checks.LabelmePointCount,
    labelme_checks.LabelmeImageMissing, labelme_checks.LabelmeGroupMixedLabels,
    labelme_checks.LabelmeShapeMalformed,
    # MC420 MC421 MC422 MC423 MC424 MC425 MC426 MC427
    yolo_checks.YoloCoordinateOutOfRange, yolo_checks.YoloMalformedRow, yolo_checks.YoloCommaSeparated,
    yolo_checks.YoloMixedBoxPolygon, yolo_checks.YoloLabelWithoutImage, yolo_checks.YoloImageWithoutLabel,
    yolo_checks.YoloNamesNcMismatch, yolo_checks.YoloDataPathMissing,
    # MC440 MC441 MC442 MC443 MC444 MC445
    voc_checks.UnreadableVocFile, voc_checks.InstanceSpansClasses, voc_checks.SplitIdWithoutFiles,
    voc_checks.ImageWithoutAnnotationFile, voc_checks.AnnotationWithoutImage, voc_checks.InvalidBndbox,
    # MC450 MC451
    cvat_checks.UnlabelledShape, cvat_checks.MalformedCvatShape,
    # MC460 MC461 MC462
    sa1b_checks.PromptPointOutside, sa1b_checks.ScoreOutOfRange, sa1b_checks.CropBoxOutsideImage,
    # MC501 MC502 MC503 MC504
    framework.LabelOutOfRange, framework.NonContiguousIds, framework.NumClassesMismatch,
    framework.ClassListMismatch,
    # MC510 MC511 MC512
    splits.SplitCategoriesDiffer, splits.ClassMissingFromTrain, splits.ImageInTwoSplits,
)
