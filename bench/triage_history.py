"""Writes the seeded ticket history the triage suggestions are measured on
(hotline/seed/triage-history.jsonl.gz): five weeks of closed tickets over
the model city's 36 leaf categories, each line a ticket as an agent wrote it
with its answers beside it (category, the unit it went to, answered or
dispatched).

What makes it a fair test rather than a lookup:
- the categories that real centres confuse share their words (施工噪音 is
  施工扰民 or 噪音污染; 物业不供暖 is 供暖 or 物业管理; unpaid wages are a
  labour complaint or a lawyer's question), and one scenario in eight is
  written from the neighbouring category's side;
- agents write differently (openings, word choice, length, typos of
  omission), and one ticket in sixteen carries the label a hurried agent
  gave it, as in any centre's history;
- the weeks drift: heating complaints grow as November starts, and week 5
  (the held-out week) says some things in words weeks 1-4 rarely used.

Deterministic: `python -m bench.triage_history` writes the same file every
time (random.Random(12345)).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import re
from pathlib import Path

from hotline.config import TicketSettings
from hotline.tickets.categories import CategoryTree
from hotline.tickets.units import Units

OUT = Path(__file__).resolve().parent.parent / "hotline" / "seed" / "triage-history.jsonl.gz"
START = dt.datetime(2026, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Monday
DAYS = 35
PER_DAY = 165

# Roads with no community's grid station (属地 then falls to the category's department).
OTHER_ROADS = {
    "南城区": ["长江路", "解放大道", "南湖路", "工农路", "南苑小区", "花园新村"],
    "北城区": ["北环路", "黄河路", "北辰小区", "钢厂宿舍", "建设北路"],
    "新区": ["科技大道", "创业路", "未来城小区", "高新二路", "滨江花园"],
    "郊县": ["城关镇", "东风村", "柳林镇", "县前街", "石桥村"],
    "东城区": ["东大街", "胜利路"],
    "西城区": ["西大街", "文化路"],
}
SHARED = {
    "T": [
        "每天晚上",
        "晚上十点以后",
        "凌晨一两点",
        "周末",
        "最近一周",
        "这几天",
        "从上个月开始",
        "每天早上六点",
        "中午休息时间",
        "近半个月",
        "夜里",
    ],
    "D": [
        "已经一个多月了",
        "持续好几天了",
        "反映过好几次了",
        "多次找过没有结果",
        "快两个星期了",
        "一直没人管",
        "半年多了",
        "今天又出现了",
    ],
    "Q": [
        "希望尽快处理",
        "请相关部门核实处理",
        "要求给个说法",
        "希望能派人来看看",
        "请尽快解决",
        "希望有关部门管一管",
        "要求尽快整改",
        "希望得到答复",
        "请督促处理",
        "",
    ],
    "P": ["市民来电反映：", "来电人称", "市民反映", "来电反映", "市民称", "", "", "来电人表示"],
    "W": ["孩子", "老人", "家里人", "邻居们", "居民"],
}

# Per leaf category: how citizens describe it. {A} address, {T} when, {D}
# how long, {Q} what they ask, {W} who suffers; {x|y} picks one.
SCENARIOS: dict[str, list[str]] = {
    "consult-social": [
        "咨询{养老保险|社保}{个人账户|缴费年限}怎么查询，{退休后|今后}能领多少",
        "想了解{灵活就业人员|个体户}怎么参加{养老保险|社会保险}，在哪里办理",
        "咨询社保卡{丢失|损坏}了怎么补办，需要带什么材料",
        "询问{退休|领取养老金}需要办理哪些手续，{异地|外省}的缴费年限能否合并",
        "咨询{失业金|失业保险金}怎么申领，{离职|被辞退}后多久可以办",
    ],
    "consult-housing": [
        "咨询{公租房|保障房|廉租房}申请条件，{收入|户籍}有什么要求",
        "想了解{住房公积金|公积金}{提取|贷款}需要什么材料",
        "咨询{人才公寓|租房补贴}怎么申请，{毕业生|外地户籍}能不能办",
        "询问{共有产权房|经适房}什么时候{摇号|开始申请}",
        "咨询{购房资格|限购政策}，{外地户口|二套房}能不能买",
    ],
    "urban-property": [
        "{A}物业{不作为|服务差}，{楼道灯坏了|垃圾堆在楼道|门禁坏了}{D}，找物业{不管|推诿}，{Q}",
        "{A}物业{乱收费|强制收停车费|物业费涨价}，没有公示，{Q}",
        "{A}小区{电梯|监控|单元门}坏了物业不修，{W}出行不便，{Q}",
        "{A}物业{私自|擅自}占用{公共绿地|小区公共区域}{停车|出租}，{Q}",
        "{A}业主委员会{选举|换届}物业{阻挠|不配合}，{Q}",
        "{A}小区暖气不热，物业说{管道|阀门}问题推给热力公司，{Q}",
    ],
    "urban-building": [
        "{A}{楼房|居民楼}外墙{瓷砖|墙皮}脱落，{砸到车|险些砸到人}，存在安全隐患，{Q}",
        "{A}{老旧小区|楼}墙体{开裂|出现裂缝}，担心是危房，{Q}",
        "{A}{楼顶|屋顶}漏水{D}，{Q}",
        "{A}{一楼|楼下}商户{拆改承重墙|私自拆墙}，{Q}",
        "{A}{阳台|楼板}出现裂缝{越来越大|D}，{W}害怕，{Q}",
    ],
    "urban-works": [
        "{A}附近工地{T}施工，{机器轰鸣|噪音很大|打桩}，{W}无法休息，{Q}",
        "{A}{工地|施工单位}夜间施工{D}，{打桩|浇筑混凝土|渣土车进出}声音很大，{Q}",
        "{A}{旁边|对面}工地{扬尘大|渣土车遗撒}，{施工|夜里}扰民，{Q}",
        "{A}{地铁|道路}施工{T}作业，{没有夜间施工许可|超时施工}，{Q}",
        "{A}{小区内|楼里}装修{T}施工{电钻|砸墙}，{Q}",
    ],
    "env-noise": [
        "{A}{楼下|附近}{饭店|烧烤店|酒吧|KTV}{T}{噪音|吵闹}很大，{W}无法入睡，{Q}",
        "{A}{广场舞|健身操}{T}音响声音太大，{D}，{Q}",
        "{A}{商户|店铺}门口{高音喇叭|音响}{循环播放|大声播放}，{噪音扰民|很吵}，{Q}",
        "{A}{空调外机|冷却塔|风机}{T}轰鸣，噪音{扰民|很大}，{Q}",
        "{A}{T}有{施工|装修}{噪音|声音}，还有{商户|饭店}{噪音|吵闹}，{Q}",
    ],
    "env-air": [
        "{A}{附近|周边}{工厂|饭店|汽修店}{排放|散发}{刺鼻|难闻}气味，{T}最严重，{Q}",
        "{A}有人{焚烧垃圾|烧秸秆|烧树叶}，{浓烟|烟很大}，{Q}",
        "{A}{饭店|烧烤摊}油烟{直排|很大}，{熏得|呛得}{W}{不敢开窗|咳嗽}，{Q}",
        "{A}{喷漆|汽修}{作坊|店}{T}{喷漆|作业}，气味刺鼻，{Q}",
    ],
    "env-water": [
        "{A}附近{河道|水沟|池塘}{发黑发臭|有死鱼|漂着垃圾}，{Q}",
        "{A}{工厂|养殖场}{偷排|直排}污水到{河里|水沟}，{Q}",
        "{A}{河边|小河}有{排污口|管道}排出{黄色|白色}的水，{D}，{Q}",
        "{A}{湖|河}{水面|岸边}{有油污|泛着泡沫}，{Q}",
    ],
    "labour-wages": [
        "在{A}{工地|公司|饭店|厂里}打工，{老板|包工头}拖欠工资{两个月|三个月|半年}，{共|一共}{八千|两万|五千}元，{Q}",
        "{公司|单位}{倒闭|搬走|停业}了，{工资|工钱}没发，{找不到老板|老板不接电话}，{Q}",
        "{工地|项目}{拖欠|不发}农民工工资，{十几个|几十个}工人{D}，{Q}",
        "{离职|辞职}后{公司|单位}{扣押|不结算}最后一个月工资，{Q}",
        "{老板|公司}拖欠{加班费|工资}，{讨要|去要}多次无果，{Q}",
    ],
    "labour-insurance": [
        "{公司|单位}{不给|没有给}员工缴纳社保，{D}，{Q}",
        "{单位|公司}{少缴|按最低标准缴}社保{公积金|}，{Q}",
        "{公司|老板}{停缴|断缴}了{社保|养老保险}，{W}看病报销受影响，{Q}",
        "{入职|工作}{一年|半年}了{公司|单位}一直不签合同也不交社保，{Q}",
    ],
    "traffic-bus": [
        "{号线|路}公交车{T}{不按时发车|等了四十分钟|甩站}，{Q}",
        "{路|号线}公交{司机|驾驶员}{态度恶劣|开车接打电话|急刹车}，{Q}",
        "{A}{公交站|站台}{撤了|挪走了}，{W}坐车不方便，{Q}",
        "建议{A}{增开|延长}公交线路，{T}{没车|打不到车}",
        "{公交卡|乘车码}{多扣费|刷不了}，{Q}",
    ],
    "traffic-road": [
        "{A}{路面|马路}{塌陷|坑洼|破损}，{车辆|电动车}{容易出事|颠簸}，{Q}",
        "{A}{井盖|下水井盖}{缺失|破损|松动}，{存在安全隐患|有人绊倒}，{Q}",
        "{A}{红绿灯|信号灯}{不亮|坏了|时间太短}，{Q}",
        "{A}{交通标志|隔离护栏}{损坏|倒了}，{Q}",
        "{A}{人行道|盲道}{被挖断|破损}{D}，{Q}",
    ],
    "traffic-taxi": [
        "{出租车|出租司机}{拒载|绕路|不打表}，车牌号{京B|}，{Q}",
        "{网约车|滴滴司机}{乱收费|绕路|中途甩客}，{Q}",
        "{T}在{火车站|机场}{打车|排队}{被加价|司机议价}，{Q}",
        "{出租车|网约车}司机{态度恶劣|辱骂乘客}，{Q}",
    ],
    "traffic-parking": [
        "{A}{路边|小区门口}{乱停车|违停}{堵路|堵住消防通道}，{Q}",
        "{A}{停车场|路侧停车}{乱收费|收费不开票|超标准收费}，{Q}",
        "{A}{僵尸车|废弃车辆}长期占用车位{D}，{Q}",
        "{A}{停车位|车位}{被地锁占用|被私自圈占}，{Q}",
    ],
    "market-consumer": [
        "在{A}{商场|超市|店里}买的{衣服|手机|家电}{质量有问题|是假货}，商家{拒绝退换|不给退款}，{Q}",
        "{健身房|美容院|培训班}{跑路|关门}了，预付卡{余额|里还有三千元}退不了，{Q}",
        "{网购|在网上买}的{商品|东西}{货不对板|质量差}，{商家|店铺}不处理，{Q}",
        "{A}{店铺|商家}{价格欺诈|标价不符|缺斤短两}，{Q}",
        "{装修公司|家具店}{收了定金|签了合同}{不履行|拖延交货}，{Q}",
    ],
    "market-food": [
        "在{A}{饭店|餐馆|外卖店}吃饭后{腹泻|拉肚子|食物中毒}，{Q}",
        "{A}{超市|小卖部}{卖|售卖}{过期食品|变质食品}，{Q}",
        "{A}{餐馆|饭店}{后厨|卫生}{脏乱差|有老鼠}，{Q}",
        "{外卖|点餐}{吃出|发现}{异物|虫子|头发}，{Q}",
        "{A}{无证|没有营业执照}{小作坊|食品摊}生产{食品|熟食}，{Q}",
    ],
    "utility-water": [
        "{A}{停水|没水了}{D}，没有提前通知，{Q}",
        "{A}自来水{发黄|有异味|浑浊}，{W}不敢喝，{Q}",
        "{A}{水压|水压太低}{上不去|很小}，{高层|楼上}用不了水，{Q}",
        "{A}{自来水管道|供水管}{爆裂|漏水}，{路上都是水|冒水}，{Q}",
        "{A}{水费|水表}{异常|突然很高}，{Q}",
    ],
    "utility-power": [
        "{A}{停电|突然停电}{D}，{没有通知|什么时候恢复}，{Q}",
        "{A}{电压不稳|经常跳闸}，{电器|冰箱}{烧坏了|用不了}，{Q}",
        "{A}{电线|电缆}{垂落|裸露}{很危险|有安全隐患}，{Q}",
        "{A}{电费|电表}{异常|突然很高}，{Q}",
        "{A}{变压器|配电箱}{冒烟|有异响}，{Q}",
    ],
    "utility-gas": [
        "{A}{闻到|有}{燃气味|煤气味}，{担心泄漏|很害怕}，{Q}",
        "{A}{燃气|天然气}{停气|没气了}{D}，{Q}",
        "{A}{燃气表|燃气管道}{漏气|生锈}，{Q}",
        "{A}{燃气公司|燃气}{上门安检|收费}{乱收费|强制换表}，{Q}",
    ],
    "utility-heating": [
        "{A}暖气不热，{室温|家里温度}{只有十五度|不到十六度|很低}，{W}冻得受不了，{Q}",
        "{A}{已经供暖了|供暖季}{暖气|家里}还是{凉的|不热}，{Q}",
        "{A}{暖气管道|暖气片}{漏水|跑水}，{Q}",
        "{A}{供暖费|取暖费}{怎么交|收费标准}，{Q}",
        "{A}小区{物业|热力站}说{设备检修|管道问题}暖气不热，{D}，{Q}",
    ],
    "city-sanitation": [
        "{A}{垃圾|生活垃圾}{堆积|没人清运}{D}，{臭气熏天|招苍蝇}，{Q}",
        "{A}{公厕|公共厕所}{脏乱|没人打扫|锁门}，{Q}",
        "{A}{道路|路边}{没人清扫|很脏}，{Q}",
        "{A}{垃圾桶|垃圾分类点}{满了|溢出来了}{没人收|D}，{Q}",
        "{A}{建筑垃圾|装修垃圾}{乱倒|堆在路边}，{Q}",
    ],
    "city-vendors": [
        "{A}{流动摊贩|小商贩}{占道经营|摆摊}，{堵住人行道|影响通行}，{Q}",
        "{A}{早市|夜市}{占用马路|占道}，{T}{很乱|车过不去}，{Q}",
        "{A}{商户|店铺}{店外经营|把货摆到人行道上}，{Q}",
        "{A}{烧烤摊|水果摊}{T}{占道|摆在路边}，{Q}",
    ],
    "city-illegal": [
        "{A}{有人|邻居}{私搭乱建|违章搭建}{彩钢房|阳光房}，{Q}",
        "{A}{楼顶|顶楼}{加盖|违建}{房屋|板房}，{Q}",
        "{A}{一楼住户|商户}{私自|擅自}{扩建|圈占院子}，{Q}",
        "{A}{小区内|空地上}{建|盖}了{违法建筑|违建}{D}，{Q}",
    ],
    "city-lights": [
        "{A}路灯{不亮|坏了|忽明忽暗}{D}，{晚上|夜里}{很黑|出行不安全}，{Q}",
        "{A}{路灯杆|灯杆}{倾斜|倒了}，{Q}",
        "{A}{景观灯|路灯}{白天也亮着|一直亮}，浪费电，{Q}",
        "{A}{小区外|路口}{没有路灯|缺少照明}，{Q}",
    ],
    "city-greening": [
        "{A}{树木|大树}{倾斜|枯死|树枝快断了}，{有安全隐患|怕砸到人}，{Q}",
        "{A}{树枝|树}{遮挡|挡住}{窗户|路灯|信号灯}，{Q}",
        "{A}{绿地|草坪}被{毁坏|挖了}，{Q}",
        "{A}{有人|物业}{私自砍树|砍伐树木}，{Q}",
        "{A}{杨絮|柳絮}{很多|满天飞}，{Q}",
    ],
    "edu-school": [
        "咨询{孩子|小孩}{上小学|入学|上初中}{需要什么材料|怎么报名}，{户籍|租房}的能不能上",
        "{孩子|女儿|儿子}{入学|划片}{没有学位|被分到很远的学校}，{Q}",
        "{学校|幼儿园}{乱收费|收取额外费用}，{Q}",
        "咨询{幼儿园|公办幼儿园}{报名|招生}时间",
        "{随迁子女|外地孩子}{上学|入学}{手续|条件}，{Q}",
    ],
    "edu-training": [
        "{校外培训|培训机构}{跑路|关门了}，{学费|课时费}退不了，{Q}",
        "{培训机构|补习班}{周末|寒暑假}违规{上课|补课}，{Q}",
        "{学校老师|老师}{有偿补课|私下办班}，{Q}",
        "{培训班|辅导机构}{虚假宣传|乱收费}，{Q}",
    ],
    "health-hospital": [
        "在{市医院|区医院|人民医院}{看病|就诊}{医生态度差|排队太久|被误诊}，{Q}",
        "{医院|诊所}{乱收费|多收费|重复收费}，{Q}",
        "{A}{无证|黑}诊所{行医|看病}，{Q}",
        "{医院|急诊}{推诿病人|不接收病人}，{Q}",
        "{挂号|预约}{挂不上号|号被黄牛抢光}，{Q}",
    ],
    "health-insurance": [
        "{医保|医疗保险}{报销|结算}{比例太低|报不了}，{Q}",
        "{异地就医|在外地看病}{医保|费用}怎么报销，需要{备案|什么手续}",
        "{医保卡|医保}{不能用|被冻结}，{Q}",
        "咨询{门诊|住院}医保报销{比例|政策}，{退休人员|孩子}怎么报",
    ],
    "other": [
        "{表扬|感谢}{工作人员|社区}{服务好|帮忙解决了问题}",
        "{建议|提议}{A}{增加|设置}{休闲座椅|健身器材}",
        "{A}{流浪狗|野猫}{很多|咬人}，{Q}",
        "{询问|咨询}{12345|热线}{工作时间|能办什么}",
        "{A}{有人|邻居}{养鸽子|养鸡}{很臭|扰民}，{Q}",
    ],
    "legal-family": [
        "咨询{离婚|协议离婚}{财产怎么分|孩子抚养权归谁}",
        "{丈夫|妻子}{家暴|动手打人}，想{离婚|咨询怎么办}",
        "咨询{遗产|房产}{继承|分割}，{父母去世|没有遗嘱}怎么办",
        "{老人|父母}{赡养|养老}{子女不管|兄弟姐妹推诿}，咨询法律怎么规定",
    ],
    "legal-labour": [
        "咨询{被公司辞退|被开除}{能不能要赔偿|怎么申请仲裁}",
        "{工伤|上班受伤}{公司不认|不给赔}，咨询怎么{认定|维权}",
        "咨询{劳动合同|劳务合同}{到期不续签|试用期被辞退}有没有补偿",
        "老板拖欠工资，咨询{怎么申请劳动仲裁|去法院起诉要什么材料}",
    ],
    "legal-contract": [
        "{借钱给朋友|借款}{不还|到期不还}，{有借条|没有借条}，咨询怎么起诉",
        "{买房|租房}合同{违约|纠纷}，{定金|押金}不退，咨询法律怎么办",
        "咨询{合同|协议}{签了能不能反悔|违约金过高怎么办}",
        "{装修合同|买卖合同}纠纷，{对方|商家}不履行，咨询{起诉|维权}",
    ],
    "legal-property": [
        "{房东|中介}{不退押金|克扣押金}，咨询{法律|怎么起诉}",
        "{物业|开发商}{违约|不履行承诺}，{业主|我们}咨询怎么{维权|起诉}",
        "咨询{房产证|产权}{纠纷|写了谁的名字}，{Q}",
        "{邻居|楼上}{漏水|装修}{损坏|泡坏}{我家|房子}，咨询怎么{索赔|要赔偿}",
    ],
    "legal-traffic": [
        "{出了车祸|交通事故}{对方|肇事方}{不赔钱|逃逸}，咨询怎么{索赔|起诉}",
        "{被车撞了|骑电动车被撞}，{保险公司|对方}{赔偿|不赔}，咨询法律",
        "咨询{交通事故|车祸}{责任认定|赔偿标准}",
    ],
    "legal-other": [
        "{被骗|网上被骗}了{钱|一万多}，咨询{法律途径|怎么追回}",
        "咨询{法律援助|免费律师}{怎么申请|条件}",
        "{名誉|隐私}{被侵犯|被人在网上发布}，咨询怎么维权",
    ],
}
# Categories citizens describe in each other's words: one scenario in eight
# comes from the neighbour's list (the label stays this category's).
NEIGHBOURS = {
    "env-noise": ["urban-works"],
    "urban-works": ["env-noise"],
    "urban-property": ["utility-heating", "legal-property"],
    "utility-heating": ["urban-property"],
    "labour-wages": ["legal-labour", "labour-insurance"],
    "legal-labour": ["labour-wages"],
    "labour-insurance": ["consult-social", "health-insurance"],
    "consult-social": ["labour-insurance"],
    "health-insurance": ["consult-social"],
    "market-consumer": ["market-food", "edu-training", "legal-contract"],
    "edu-training": ["market-consumer"],
    "traffic-road": ["city-lights"],
    "city-lights": ["traffic-road"],
    "city-sanitation": ["city-vendors"],
    "city-vendors": ["city-sanitation", "traffic-parking"],
    "traffic-parking": ["city-vendors"],
    "env-air": ["city-sanitation"],
    "legal-property": ["urban-property"],
    "legal-contract": ["market-consumer"],
}
# Calls a day per category, relative; heating grows in weeks 4-5 (November).
WEIGHT = {
    "consult-social": 6,
    "consult-housing": 4,
    "urban-property": 9,
    "urban-building": 3,
    "urban-works": 5,
    "env-noise": 7,
    "env-air": 3,
    "env-water": 2,
    "labour-wages": 6,
    "labour-insurance": 3,
    "traffic-bus": 3,
    "traffic-road": 4,
    "traffic-taxi": 2,
    "traffic-parking": 4,
    "market-consumer": 7,
    "market-food": 3,
    "utility-water": 3,
    "utility-power": 2,
    "utility-gas": 1,
    "utility-heating": 2,
    "city-sanitation": 4,
    "city-vendors": 3,
    "city-illegal": 2,
    "city-lights": 2,
    "city-greening": 2,
    "edu-school": 2,
    "edu-training": 2,
    "health-hospital": 3,
    "health-insurance": 2,
    "other": 3,
    "legal-family": 1,
    "legal-labour": 1,
    "legal-contract": 1,
    "legal-property": 1,
    "legal-traffic": 1,
    "legal-other": 1,
}
# How week 5 says some things (new words for the held-out week).
WEEK5 = {"暖气不热": "暖气片冰凉", "停水": "断水", "拖欠工资": "欠薪", "噪音很大": "吵得不行", "垃圾": "垃圾箱"}
ANSWERED = ("consult-", "legal-", "other")  # answered on the call (直接答复) rather than dispatched
MISLABEL = 1 / 16
BORROW = 1 / 8


def expand(template: str, rng: random.Random, address: str) -> str:
    def one(m: re.Match[str]) -> str:
        body = m.group(1)
        if body == "A":
            return address
        if body in SHARED:
            return rng.choice(SHARED[body])
        return rng.choice(body.split("|"))

    return re.sub(r"\{([^{}]*)\}", one, template)


def address_of(rng: random.Random, units: Units) -> tuple[str, str]:
    """An address as callers give it, and its district."""
    if rng.random() < 0.35:
        unit = rng.choice(list(units.by_code.values()))
        road, district = rng.choice(unit.addresses), unit.district
    else:
        district = rng.choice(list(OTHER_ROADS))
        road = rng.choice(OTHER_ROADS[district])
    if road.endswith(("小区", "新村", "宿舍", "花园")):
        number = f"{rng.randint(1, 30)}号楼{rng.choice(['', f'{rng.randint(1, 6)}单元'])}"
    elif road.endswith(("村", "镇")):
        number = rng.choice(["", f"{rng.randint(1, 9)}组"])
    else:
        number = f"{rng.randint(1, 300)}号"
    return f"{road}{number}", district


def main() -> None:
    rng = random.Random(12345)
    settings = TicketSettings()
    units = Units(settings)
    tree = CategoryTree(settings)
    codes = list(WEIGHT)
    assert set(codes) == set(SCENARIOS) and all(c in tree.nodes for c in codes), "categories and scenarios disagree"
    rows = []
    for day in range(DAYS):
        week = day // 7 + 1
        weights = [WEIGHT[c] * (4 if c == "utility-heating" and week >= 4 else 1) for c in codes]
        for _ in range(PER_DAY):
            code = rng.choices(codes, weights)[0]
            source = rng.choice(NEIGHBOURS[code]) if code in NEIGHBOURS and rng.random() < BORROW else code
            address, district = address_of(rng, units)
            template = rng.choice(SCENARIOS[source])
            text = expand(template, rng, address)
            text = (rng.choice(SHARED["P"]) + text).rstrip("，") + "。"
            if week == 5:
                for old, new in WEEK5.items():
                    if old in text and rng.random() < 0.5:
                        text = text.replace(old, new)
            label = rng.choice(codes) if rng.random() < MISLABEL else code
            answered = label.startswith(ANSWERED) and rng.random() < 0.85
            if answered:
                unit = ""
            else:
                located = units.locate(address, district)
                # 属地优先, else the category's department (城管委 takes what has none).
                unit = located.code if located else tree.nodes[label].department or "csglw"
            at = START + dt.timedelta(days=day, seconds=rng.randint(0, 86399))
            rows.append(
                {
                    "at": at.isoformat(timespec="seconds"),
                    "week": week,
                    "content": text,
                    "address": address if "{A}" in template or rng.random() < 0.3 else "",
                    "district": district,
                    "category": label,
                    "unit": unit,
                    "handling": "answered" if answered else "dispatched",
                }
            )
    rows.sort(key=lambda r: r["at"])
    # No name or time in the gzip header: the same rows give the same bytes.
    with OUT.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        for i, r in enumerate(rows, 1):
            out.write((json.dumps({"id": i, **r}, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{len(rows)} tickets over {len(codes)} categories -> {OUT}")


if __name__ == "__main__":
    main()
