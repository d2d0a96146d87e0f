model = dict(type='ViTS16', image_size=224)
