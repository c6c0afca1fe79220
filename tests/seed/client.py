#!/usr/bin/env python3
# encoding: utf-8

import requests


def main():
    url = 'http://127.0.0.1:8134/item_explain'
    params = {'username': 'user1', }
    res = requests.post(
        url=url,
        params=params,
        files=[
            ('images', ('123_picture001.png', open('~/Pictures/picture001.png', 'rb'), 'image/png', )),
            ('images', ('338_清平乐·村居.jpeg', open('~/Pictures/清平乐·村居.jpeg', 'rb'), 'image/jpeg', )),
            ('audios', ('234_清平乐·村居.mp3', open('~/Pictures/清平乐·村居.mp3', 'rb'), 'audio/mp3', )),
            ('audios', ('234_清平乐·村居.mp3', open('~/Pictures/清平乐·村居.mp3', 'rb'), 'audio/mp3', )),
            ('audios', ('234_清平乐·村居.mp3', open('~/Pictures/清平乐·村居.mp3', 'rb'), 'audio/mp3', )),
            ('videos', ('554_清平乐·村居.mp4', open('~/Pictures/清平乐·村居.mp4', 'rb'), 'video/x-mpg', )),
            ('videos', ('554_清平乐·村居.mp4', open('~/Pictures/清平乐·村居.mp4', 'rb'), 'video/x-mpg', )),
            ('text', ('explain_text', '最喜小儿无赖，溪头卧剥莲蓬。')),
        ]
    )
    print(res.content)


if __name__ == '__main__':
     main()
