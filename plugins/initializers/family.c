/* The initializer family's single entry point: lists every initializer in this folder.
 * A new scheme is one more file here and one more name below. Aliases (kaiming_*, glorot_*,
 * identity) are separate descriptors sharing their target's functions and schema.
 */
#include <fanin/plugin.h>

extern const fanin_plugin zeros, ones, constant, uniform, normal, trunc_normal, eye, identity,
    lecun_normal, lecun_uniform, xavier_normal, xavier_uniform, glorot_normal, glorot_uniform,
    he_normal, he_uniform, kaiming_normal, kaiming_uniform, variance_scaling, orthogonal, sparse,
    positive_unitball, nguyen_widrow, torch_default, keras_default, caffe_xavier, fann_default;
extern const fanin_plugin lsuv; /* calls layer_forward (ABI 1.1): hence _MIN(1, ...) below */
/* read the tensor's shape, role and branch when the host gives them (ABI 1.2), the 2-D view
 * otherwise: they need no newer host */
extern const fanin_plugin fixup, delta_orthogonal, dirac, zero;
/* issue 11: Caffe's msra and Bernoulli-sparse gaussian fillers */
extern const fanin_plugin caffe_msra, caffe_gaussian;
extern const fanin_plugin critical; /* the edge of chaos: pairs with fanin init-stats critical */
/* the output layer's init: gradients at init (init_loss_grad, ABI 1.2), tested behind
 * FANIN_HAS_FIELD, so the library still loads in a 1.1 host and they say what is missing */
extern const fanin_plugin metainit, gradinit;

FANIN_PLUGIN_DEFINE_MIN(1, &zeros, &ones, &constant, &uniform, &normal, &trunc_normal, &eye,
                        &identity, &lecun_normal, &lecun_uniform, &xavier_normal, &xavier_uniform,
                        &glorot_normal, &glorot_uniform, &he_normal, &he_uniform, &kaiming_normal,
                        &kaiming_uniform, &variance_scaling, &orthogonal, &sparse,
                        &positive_unitball, &nguyen_widrow, &torch_default, &keras_default,
                        &caffe_xavier, &fann_default, &lsuv, &fixup, &delta_orthogonal, &dirac,
                        &zero, &caffe_msra, &caffe_gaussian, &critical, &metainit, &gradinit)
