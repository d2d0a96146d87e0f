model = dict(type='VGG16BN')
