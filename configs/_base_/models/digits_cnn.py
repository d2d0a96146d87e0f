model = dict(type='DigitsCNN')
