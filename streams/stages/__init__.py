"""The pipeline's stages, one per module (enrich, stories, index, alerts); each opens with its
error policy. The topology (`streams.topology`) wires them."""
