# The ResNet-UNet with a ResNet-18 encoder (torchvision://resnet18): about
# half the compute of resnet_unet.py.
_base_ = ['./resnet_unet.py']
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')))
