model = dict(type='SwinT')
